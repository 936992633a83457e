import { afterEach, describe, expect, it, vi } from 'vitest';

import { stepProgress } from '../../../src/pipelines/progress.js';

afterEach(() => vi.useRealTimers());

/** A task whose every output is kept (each assignment is a line in a plain log). */
function recordingTask(): { output: string; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    set output(text: string) {
      lines.push(text);
    },
    get output() {
      return lines[lines.length - 1] ?? '';
    },
  };
}

describe('stepProgress', () => {
  it('in a plain log: a state line every 10 %, log lines each once, a heartbeat with the elapsed time when quiet', () => {
    vi.useFakeTimers({ now: 0 });
    const task = recordingTask();
    const progress = stepProgress(task, 'plain');
    progress.update('copying 1 %', 0.01);
    for (let i = 2; i <= 9; i++) {
      // Every half second a share that moved less than 10 % since the last line: no line.
      vi.advanceTimersByTime(500);
      progress.update(`copying ${i} %`, i / 100);
    }
    vi.advanceTimersByTime(500);
    progress.update('copying 12 %', 0.12);
    // 4.5 s in: 12 % moved 11 % since the last line.
    expect(task.lines).toEqual(['copying 1 % · 0 s elapsed', 'copying 12 % · 5 s elapsed']);
    progress.line('pg_dump: dumping contents of table "public.users"');
    vi.advanceTimersByTime(29_500);
    expect(task.lines).toHaveLength(3);
    vi.advanceTimersByTime(1_000);
    // 30 s after the last line: a heartbeat, which never repeats a log line.
    expect(task.lines[3]).toBe('still working · 35 s elapsed');
    // After a line (a new phase) the next state shows at once, whatever the share.
    progress.line('indexes and constraints');
    progress.update('pg_restore: 1 of 40 items', 0.025);
    expect(task.lines.slice(4)).toEqual(['indexes and constraints · 35 s elapsed', 'pg_restore: 1 of 40 items · 35 s elapsed']);
    progress.stop();
    vi.advanceTimersByTime(120_000);
    expect(task.lines).toHaveLength(6);
  });

  it('on a terminal: every state shown, and the newest one redrawn each second with the elapsed time', () => {
    vi.useFakeTimers({ now: 0 });
    const task = recordingTask();
    const progress = stepProgress(task, 'interactive');
    progress.update('a', 0.01);
    progress.update('b', 0.02);
    vi.advanceTimersByTime(2_000);
    expect(task.lines).toEqual(['a · 0 s elapsed', 'b · 0 s elapsed', 'b · 1 s elapsed', 'b · 2 s elapsed']);
    progress.stop();
  });
});
