import { describe, expect, it } from 'vitest';
import { followSignals } from './abort';

describe('followSignals', () => {
  it('aborts the controller with the reason of whichever source aborts first', () => {
    const [a, b] = [new AbortController(), new AbortController()];
    const controller = new AbortController();
    followSignals(controller, [a.signal, undefined, b.signal]);
    b.abort(new Error('b'));
    a.abort(new Error('a'));
    expect(controller.signal.reason).toEqual(new Error('b'));
  });

  it('an already aborted source aborts it at once', () => {
    const controller = new AbortController();
    followSignals(controller, [AbortSignal.abort('gone')]);
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toBe('gone');
  });

  it('the returned function detaches it: a later abort of a source no longer reaches it', () => {
    const source = new AbortController();
    const controller = new AbortController();
    const detach = followSignals(controller, [source.signal]);
    detach();
    source.abort();
    expect(controller.signal.aborted).toBe(false);
  });
});
