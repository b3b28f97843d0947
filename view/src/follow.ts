// Following jobs that are still running: get_prediction {prediction_id, wait_seconds: 20} again and again until
// each one ends (at most a quarter of an hour, then the user decides). One job for a single edit; one per
// running variation, together, for a gallery. A failed check stops them all until the user keeps waiting.

import type { App } from "@modelcontextprotocol/ext-apps/app-with-deps";
import { type Report, readReport } from "./contract";
import { errorText, textOf } from "./previews";

const WAIT_SECONDS = 20;
const MAX_RESUMES = 45; // 45 calls of 20 s: a quarter of an hour, then the user decides

export type Waiting = "idle" | "running" | "stopped";

/** One job to follow: what it is called in a message, its id, whether it still runs, and what to do with news. */
export interface Job {
  name: string;
  id: () => string | null;
  pending: () => boolean;
  take: (report: Report) => void;
}

export interface FollowHooks {
  render: () => void;
  renderPending: () => void;
  problem: (text: string) => void;
  /** Every job ended or the following stopped. */
  done: () => void;
}

export class Follower {
  waiting: Waiting = "idle";
  checks = 0;
  progress: string | null = null;
  private abort: AbortController | null = null;
  private generation = 0;

  constructor(
    private readonly app: App,
    private readonly hooks: FollowHooks,
  ) {}

  /** Forget the jobs being followed: another edit is on screen, and it is followed afresh. */
  reset(): void {
    this.generation += 1;
    this.abort?.abort();
    this.abort = null;
    this.checks = 0;
    this.progress = null;
    this.waiting = "idle";
  }

  /** The user pressed Stop waiting, or the view goes away. */
  stop(): void {
    this.waiting = "stopped";
    this.abort?.abort();
  }

  async run(jobs: Job[]): Promise<void> {
    if (this.waiting === "running") return;
    const generation = this.generation;
    this.waiting = "running";
    this.abort = new AbortController();
    const signal = this.abort.signal;
    this.hooks.render();
    await Promise.all(jobs.map((job) => this.follow(job, generation, signal)));
    if (generation !== this.generation) return;
    this.abort = null;
    if (this.waiting === "running") this.waiting = jobs.some((job) => job.pending()) ? "stopped" : "idle";
    this.hooks.done();
  }

  private live(generation: number): boolean {
    return generation === this.generation && this.waiting === "running";
  }

  private async follow(job: Job, generation: number, signal: AbortSignal): Promise<void> {
    try {
      for (let call = 0; call < MAX_RESUMES && job.pending() && this.live(generation); call++) {
        const id = job.id();
        if (id === null) return;
        const result = await this.app.callServerTool(
          { name: "get_prediction", arguments: { prediction_id: id, wait_seconds: WAIT_SECONDS } },
          {
            signal,
            timeout: (WAIT_SECONDS + 40) * 1000,
            resetTimeoutOnProgress: true,
            onprogress: (progress) => {
              if (generation !== this.generation) return;
              this.progress = progress.message ?? null;
              this.hooks.renderPending();
            },
          },
        );
        if (generation !== this.generation) return;
        this.checks += 1;
        const report = readReport(result.structuredContent);
        if (result.isError || report === null) {
          this.fail(`Checking ${job.name} failed: ${textOf(result) || "no answer"}. Press Keep waiting to try again.`);
          return;
        }
        job.take(report);
      }
    } catch (error) {
      if (!this.live(generation)) return;
      this.fail(`The host could not check ${job.name}: ${errorText(error)}. Press Keep waiting to try again.`);
    }
  }

  private fail(text: string): void {
    this.hooks.problem(text);
    this.stop();
  }
}
