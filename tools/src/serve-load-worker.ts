/** Worker-thread entry of the serve load test's clients (serve-load-clients.ts): runs them and posts what they saw. */
import { parentPort, workerData } from 'node:worker_threads';
import { runClients, type PlannedRequest } from './serve-load-clients.js';

const { url, plan, concurrency, timeoutMs } = workerData as { url: string; plan: PlannedRequest[]; concurrency: number; timeoutMs: number };
parentPort!.postMessage(await runClients(url, plan, concurrency, timeoutMs));
