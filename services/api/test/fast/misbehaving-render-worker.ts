import { runWork, type Work } from '../../src/templates/render-work.js';
import { threadTask } from '../../src/threads/thread-task.js';

/**
 * The template thread's entry, with two ways to misbehave that liquidjs' own limits would stop
 * first (so a real template cannot show them): a check of the subject `spin` never returns, and
 * one of `hog` fills the thread's heap. Anything else is the real entry's work.
 */
export default threadTask((work: Work) => {
  if (work.kind === 'check' && work.content.subject === 'spin') for (;;) {}
  if (work.kind === 'check' && work.content.subject === 'hog') {
    const kept: string[][] = [];
    for (let i = 0; ; i++) kept.push(Array.from({ length: 10_000 }, (_, j) => `${i}:${j}`));
  }
  return runWork(work);
});
