/**
 * conformance: the packetdrill interpreter. Parses `.pkt` scripts (the language of
 * google/packetdrill's TCP tests) and runs them against one simulated host in virtual time:
 * system calls through the syscall layer, inbound segments injected at a test device, outbound
 * segments matched field by field with packetdrill's tolerance and aggregation rules, sysctls
 * from `defaults.sh` mapped to stack settings, `tcpi_*` assertions over TCP_INFO. The scripts
 * are data read at run time; nothing here special-cases a script.
 */
export { parseScript, ParseError } from './parser.js';
export type { Script, ScriptEvent, TcpSegSpec, Expr } from './ast.js';
export { runScriptFile, runScriptText, modeApplies, modeDefines, type Mode, type ScriptResult, type RunOptions } from './runner.js';
export {
  runSuite, findScripts, summarize, formatLine, formatTotal, toJson, toMarkdown, linuxResults, acceptance, type SuiteResult, type ScriptEntry,
} from './suite.js';
export { runPython, PyAssertion, PyUnsupported, type PyEnv } from './python.js';
