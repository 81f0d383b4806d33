import { afterEach, describe, expect, it, vi } from 'vitest';
import { IdleTimer } from './idle-timer';

describe('IdleTimer', () => {
  afterEach(() => vi.useRealTimers());

  it('fires after ms of silence, measured from the last touch, once', () => {
    vi.useFakeTimers();
    const onSilence = vi.fn();
    const idle = new IdleTimer(1_000, onSilence);
    idle.arm();
    vi.advanceTimersByTime(600);
    idle.touch();
    vi.advanceTimersByTime(600); // 1,200 since arming, 600 since the touch
    expect(onSilence).not.toHaveBeenCalled();
    vi.advanceTimersByTime(400);
    expect(onSilence).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(5_000);
    expect(onSilence).toHaveBeenCalledTimes(1);
  });

  it('does not fire while disarmed (a reader that pauses), and keeps one timer across re-arms', () => {
    vi.useFakeTimers();
    const onSilence = vi.fn();
    const idle = new IdleTimer(1_000, onSilence);
    idle.arm();
    idle.disarm();
    vi.advanceTimersByTime(3_000);
    expect(onSilence).not.toHaveBeenCalled();
    idle.arm();
    idle.arm();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(onSilence).toHaveBeenCalledTimes(1);
  });

  it('stop() clears the timer; ms 0 never starts one', () => {
    vi.useFakeTimers();
    const onSilence = vi.fn();
    const idle = new IdleTimer(1_000, onSilence);
    idle.arm();
    idle.stop();
    expect(vi.getTimerCount()).toBe(0);
    new IdleTimer(0, onSilence).arm();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(onSilence).not.toHaveBeenCalled();
  });
});
