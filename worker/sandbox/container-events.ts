// What the engine itself says happened to one build container while it ran: who killed it, whether
// it was removed, when it died. A build that ends because someone else stopped it is an
// infrastructure failure, and only the engine's event stream can tell that apart from a build that
// exited (or killed itself) on its own.
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';

interface EngineEvent {
  readonly Action?: string;
  readonly Actor?: { readonly Attributes?: Readonly<Record<string, string>> };
}

/** Subscribes to one container's kill/die/destroy events from the moment it is opened. */
export class ContainerEventWatch {
  private readonly kills: string[] = [];
  private destroyed = false;
  private died = false;
  private ended = false;
  private waiters: Array<() => void> = [];
  private buffered = '';

  private constructor(private readonly stream: Readable) {
    stream.on('data', (chunk: Buffer) => this.take(chunk.toString('utf8')));
    const end = () => {
      this.ended = true;
      this.wake();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.on('error', end);
  }

  /** Opens the subscription; call before the container starts so no event is missed. */
  static async open(docker: Docker, containerId: string): Promise<ContainerEventWatch> {
    const stream = (await docker.getEvents({
      filters: { type: ['container'], container: [containerId], event: ['kill', 'die', 'destroy'] },
    })) as unknown as Readable;
    return new ContainerEventWatch(stream);
  }

  /**
   * Waits until the engine has reported the container's end (its `die` or `destroy` event, which
   * follow any `kill`), or `timeoutMs` passed, or the stream ended. Events arrive a little after
   * `wait` returns, so a verdict on who stopped the build must wait for them.
   */
  async settled(timeoutMs: number): Promise<void> {
    if (this.died || this.destroyed || this.ended) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.waiters.push(resolve)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * Why the build was stopped by someone other than this process, or undefined. Only meaningful
   * when this process issued no kill itself.
   */
  foreignStop(): string | undefined {
    if (this.destroyed)
      return 'the build container was removed by someone other than this worker while it ran';
    if (this.kills.length > 0) {
      return `the build container was killed (signal ${this.kills.join(', ')}) through the engine by someone other than this worker`;
    }
    if (!this.died && this.ended)
      return 'the engine stopped reporting on the build container before it ended';
    return undefined;
  }

  close(): void {
    this.stream.destroy();
  }

  private take(text: string): void {
    this.buffered += text;
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline).trim();
      this.buffered = this.buffered.slice(newline + 1);
      if (line) this.record(line);
      newline = this.buffered.indexOf('\n');
    }
    // A line that never ends is not an event; bound what is kept.
    if (this.buffered.length > 64 * 1024) this.buffered = '';
  }

  private record(line: string): void {
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      return;
    }
    if (event.Action === 'kill') this.kills.push(event.Actor?.Attributes?.signal ?? '?');
    else if (event.Action === 'die') this.died = true;
    else if (event.Action === 'destroy') this.destroyed = true;
    if (this.died || this.destroyed) this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
