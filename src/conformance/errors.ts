/**
 * How a script stops early: `ScriptFail` (the stack did something else than the script
 * expects: "line N: expected X, actual Y") and `ScriptSkip` (the script needs a feature the
 * interpreter or the simulated host does not have; the reason names it).
 */

export class ScriptFail extends Error {
  constructor(readonly line: number, readonly detail: string) {
    super(`line ${line}: ${detail}`);
  }
}

export class ScriptSkip extends Error {
  constructor(readonly line: number, readonly detail: string) {
    super(line > 0 ? `line ${line}: ${detail}` : detail);
  }
}
