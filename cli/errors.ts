/** Errors the CLI's commands throw; `run` turns them into a message and an exit code. */

/** Bad arguments: the message is printed with the usage text, exit code 1. */
export class UsageError extends Error {}

/** A failure with its own exit code; the message says what, where and what to do. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
