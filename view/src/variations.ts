// The variations of one edit_image call, as data: what each tile shows (its own job's latest answer once it was
// followed, else what the call said), the report of one variation for the facts and the stage, and the call's
// report kept in step as variations finish.

import type { Report, Variation } from "./contract";

export interface Tile {
  variation: Variation;
  report: Report | null; // the latest get_prediction answer for its own job, once it was followed
}

/** What a tile shows now: its follower's latest answer when there is one, else the call's variation. */
export interface TileFacts {
  id: string | null;
  seed: number | null;
  status: string;
  pending: boolean;
  outputs: string[];
  error: string | null;
  cost: number | null;
}

export function tileFacts(tile: Tile): TileFacts {
  const v = tile.variation;
  const r = tile.report;
  if (r !== null) {
    const { status, pending, outputs, error } = r;
    const cost = r.cost_usd ?? v.cost_usd;
    return { id: r.prediction_id, seed: r.seed ?? v.seed, status, pending, outputs, error, cost };
  }
  const status = v.status ?? (v.prediction_id === null ? "not created" : "unknown");
  const { pending, outputs, error } = v;
  return { id: v.prediction_id, seed: v.seed, status, pending, outputs, error, cost: v.cost_usd };
}

/** The report of one variation, for the facts and the stage: the call's report with the variation's own fields. */
export function variationReport(top: Report, tile: Tile): Report {
  const seed = tile.report?.seed ?? tile.variation.seed;
  if (tile.report !== null) return { ...tile.report, seed, variations: null };
  const facts = tileFacts(tile);
  return {
    ...top,
    prediction_id: facts.id ?? "",
    status: facts.status,
    pending: facts.pending,
    outputs: facts.outputs,
    has_nsfw_contents: [],
    saved_paths: tile.variation.saved_paths,
    error: facts.error,
    error_code: null,
    inference_ms: null,
    polls: null,
    next_step: null,
    seed,
    cost_usd: facts.cost,
    variations: null,
  };
}

export function seedText(seed: number | null): string {
  return seed === null ? "seed unknown" : `seed ${seed}`;
}

/** The call's report after a variation's news: running while any runs, every output in order, the first job's
 * status. */
export function galleryReport(top: Report, tiles: Tile[]): Report {
  const all = tiles.map(tileFacts);
  const first = all.find((facts) => facts.id !== null);
  const outputs = all.flatMap((facts) => facts.outputs);
  return { ...top, pending: all.some((facts) => facts.pending), outputs, status: first?.status ?? top.status };
}

/** The badge of a gallery: how many run, else whether all completed. */
export function galleryStatus(tiles: Tile[]): { text: string; tone: "busy" | "ok" | "danger" | "neutral" } {
  const all = tiles.map(tileFacts);
  const running = all.filter((facts) => facts.pending).length;
  const completed = all.filter((facts) => facts.status === "completed").length;
  if (running > 0) return { text: `${running} of ${all.length} variations running`, tone: "busy" };
  if (completed === all.length) return { text: "completed", tone: "ok" };
  return { text: `${completed} of ${all.length} completed`, tone: completed === 0 ? "danger" : "neutral" };
}
