import { threadTask } from '../threads/thread-task.js';
import { runWork } from './render-work.js';

/** A template thread's entry (render-pool.ts): parses or renders, and measures the time the account pays for. */
export default threadTask(runWork);
