/**
 * Fires `onSilence` once `ms` pass without a `touch()` while armed. One timer, re-armed lazily only when
 * it fires early, so a touch per chunk costs a clock read, not a timer. `ms` 0 means never.
 */
export class IdleTimer {
  #lastAt = 0;
  #armed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ms: number,
    private readonly onSilence: () => void,
  ) {}

  /** Something arrived: the silence starts again. */
  touch(): void {
    this.#lastAt = performance.now();
  }

  /** Starts watching (from now); a timer left from an earlier arm is reused. */
  arm(): void {
    this.#armed = true;
    this.touch();
    if (this.ms > 0 && this.#timer === undefined) this.#timer = setTimeout(this.#check, this.ms);
  }

  /** Stops watching until the next `arm()`; a pending timer finds nothing to do and lapses. */
  disarm(): void {
    this.#armed = false;
  }

  /** Stops for good and clears the timer. */
  stop(): void {
    this.#armed = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #check = (): void => {
    this.#timer = undefined;
    if (!this.#armed) return;
    const silentFor = performance.now() - this.#lastAt;
    if (silentFor < this.ms) {
      this.#timer = setTimeout(this.#check, this.ms - silentFor);
      return;
    }
    this.#armed = false;
    this.onSilence();
  };
}
