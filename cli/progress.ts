// Progress lines on stderr for long work: phases as they start, and the elapsed time while a build runs.

export interface Progress {
  phase(name: string, detail?: string): void;
  done(): void;
}

/** Quiet when `enabled` is false (e.g. --json with --quiet). Redraws one line on a TTY, else prints every 15 s. */
export function createProgress(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  enabled: boolean,
): Progress {
  let timer: NodeJS.Timeout | undefined;
  let current = '';
  let phaseStartedAt = 0;
  const clear = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (stream.isTTY && current) stream.write('\n');
  };
  return {
    phase(name, detail) {
      if (!enabled) return;
      clear();
      current = name;
      phaseStartedAt = Date.now();
      const line = `[${name}]${detail ? ` ${detail}` : ''}`;
      if (stream.isTTY) stream.write(line);
      else stream.write(`${line}\n`);
      if (name === 'build') {
        timer = setInterval(
          () => {
            const seconds = ((Date.now() - phaseStartedAt) / 1000).toFixed(0);
            if (stream.isTTY) stream.write(`\r[build] running, ${seconds} s elapsed`);
            else stream.write(`[build] still running, ${seconds} s elapsed\n`);
          },
          stream.isTTY ? 1000 : 15_000,
        );
        timer.unref();
      }
    },
    done() {
      clear();
      current = '';
    },
  };
}
