// The facts of one edit, as label/value rows: what ran, with what, how long it took and what it cost.

import { type EditArgs, type Report, shortModel } from "./contract";

export interface Fact {
  label: string;
  value: string;
  key: string;
  mono?: boolean;
}

function seconds(value: number): string {
  return value < 10 ? `${value.toFixed(1)} s` : `${Math.round(value)} s`;
}

export function money(usd: number): string {
  const digits = usd !== 0 && Math.abs(usd) < 0.1 ? 3 : 2;
  return `$${usd.toFixed(digits)}`;
}

function timeTaken(report: Report): string | null {
  const parts: string[] = [];
  if (report.elapsed_seconds !== null) parts.push(`${seconds(report.elapsed_seconds)} this call`);
  if (report.inference_ms !== null) parts.push(`${seconds(report.inference_ms / 1000)} inference`);
  return parts.length > 0 ? parts.join(", ") : null;
}

export function statusText(report: Report): string {
  if (report.pending) return `${report.status} (still running)`;
  return report.status;
}

/** The rows to show; `naturalSize` is the result's size in pixels when known from the image itself. */
export function factsOf(report: Report, args: EditArgs, naturalSize: string | null): Fact[] {
  const facts: Fact[] = [{ key: "status", label: "Status", value: statusText(report) }];
  const prediction = report.prediction_id || "none (no job was created)";
  facts.push({ key: "prediction", label: "Prediction", value: prediction, mono: report.prediction_id !== "" });
  const variant = report.variant ?? args.model ?? (report.model ? shortModel(report.model) : null);
  if (variant !== null) facts.push({ key: "variant", label: "Model", value: variant });
  const seed = report.seed ?? (args.seed !== null && args.seed >= 0 ? args.seed : null);
  if (seed !== null) facts.push({ key: "seed", label: "Seed", value: String(seed), mono: true });
  else if (args.seed === -1 || args.prompt !== null) facts.push({ key: "seed", label: "Seed", value: "random" });
  const size = report.size ?? args.size ?? naturalSize;
  if (size !== null) facts.push({ key: "size", label: "Size", value: size.replace("*", " × ") });
  const taken = timeTaken(report);
  if (taken !== null) facts.push({ key: "time", label: "Time taken", value: taken });
  if (report.cost_usd !== null) facts.push({ key: "cost", label: "Cost", value: money(report.cost_usd) });
  if (report.masked === true || report.mask_coverage !== null) {
    const share = report.mask_coverage !== null ? `${Math.round(report.mask_coverage * 100)} % of the image` : "yes";
    facts.push({ key: "mask", label: "Mask", value: share });
  }
  if (report.has_nsfw_contents.some((flag) => flag)) {
    facts.push({ key: "nsfw", label: "Content", value: "flagged as NSFW by WaveSpeed" });
  }
  if (report.error !== null) {
    const code = report.error_code !== null ? ` (code ${report.error_code})` : "";
    facts.push({ key: "error", label: "Error", value: `${report.error}${code}` });
  }
  for (const path of report.saved_paths) facts.push({ key: "saved", label: "Saved to", value: path, mono: true });
  return facts;
}
