import renderTask, { type Task } from '../../src/templates/render-worker.js';

/**
 * The template thread's entry, with two ways to misbehave that liquidjs' own limits would stop
 * first (so a real template cannot show them): a check of the subject `spin` never returns, and
 * one of `hog` fills the thread's heap. Anything else is the real entry's work.
 */
export default function misbehave(task: Task) {
  if (task.work.kind === 'check' && task.work.content.subject === 'spin') {
    renderTask({ id: task.id, work: { kind: 'check', content: { subject: 'x', html: null, text: null, variables: {} } } });
    for (;;) {}
  }
  if (task.work.kind === 'check' && task.work.content.subject === 'hog') {
    renderTask({ id: task.id, work: { kind: 'check', content: { subject: 'x', html: null, text: null, variables: {} } } });
    const kept: string[][] = [];
    for (let i = 0; ; i++) kept.push(Array.from({ length: 10_000 }, (_, j) => `${i}:${j}`));
  }
  return renderTask(task);
}
