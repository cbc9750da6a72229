/** People on a TTY get tables and progress; scripts (or --json) get JSON, one document per command. */
export interface Output {
  json: boolean;
  result(value: unknown, table?: Record<string, unknown>[]): void;
  progress(line: string): void;
}

export function output(json: boolean): Output {
  const tty = process.stdout.isTTY === true && !json;
  return {
    json: !tty,
    result(value, table) {
      if (tty && table) {
        if (table.length === 0) process.stdout.write('(none)\n');
        else console.table(table);
      } else if (tty) process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
      else process.stdout.write(`${JSON.stringify(value)}\n`);
    },
    // Progress goes to stderr: stdout stays the result, for a pipe.
    progress(line) {
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
  };
}
