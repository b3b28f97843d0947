// The data the view reads: the tool's arguments (from the host's tool-input notification) and the tool
// result's structuredContent (the server's PredictionReport). Both are read defensively: a field with an
// unexpected type is dropped, and fields the server adds later are ignored until the view knows them.

/** The PredictionReport that edit_image and get_prediction return; the optional tail is newer. */
export interface Report {
  prediction_id: string;
  status: string;
  model: string | null;
  pending: boolean;
  outputs: string[];
  has_nsfw_contents: boolean[];
  saved_paths: string[];
  created_at: string | null;
  error: string | null;
  error_code: number | null;
  inference_ms: number | null;
  elapsed_seconds: number | null;
  polls: number | null;
  next_step: string | null;
  variant: string | null;
  inputs: string[] | null;
  seed: number | null;
  size: string | null;
  cost_usd: number | null;
  masked: boolean | null;
  mask_coverage: number | null;
  mask: string | null;
  /** The variations of a call that asked for more than one (2-4), in the order the server lists them. */
  variations: Variation[] | null;
}

/** One variation of an edit_image call with `variations` > 1: its own job, seed and outputs. */
export interface Variation {
  prediction_id: string | null; // null when the submit created no job (`error` says why)
  seed: number | null;
  status: string | null;
  pending: boolean;
  outputs: string[];
  saved_paths: string[];
  cost_usd: number | null;
  error: string | null;
}

/** The edit_image arguments the view uses; get_prediction's arguments fill only `prediction_id`. */
export interface EditArgs {
  prompt: string | null;
  image: string | null;
  images: string[] | null;
  seed: number | null;
  model: string | null;
  size: string | null;
  mask: string | null;
  variations: number | null;
  prediction_id: string | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(obj: Json, key: string): string | null {
  const value = obj[key];
  return typeof value === "string" ? value : null;
}

function num(obj: Json, key: string): number | null {
  const value = obj[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function bool(obj: Json, key: string): boolean | null {
  const value = obj[key];
  return typeof value === "boolean" ? value : null;
}

function strings(obj: Json, key: string): string[] | null {
  const value = obj[key];
  if (!Array.isArray(value)) return null;
  return value.filter((item): item is string => typeof item === "string");
}

/** The report in a tool result's structuredContent, or null when there is none (e.g. an input error). */
export function readReport(value: unknown): Report | null {
  if (!isObject(value)) return null;
  const id = str(value, "prediction_id");
  const status = str(value, "status");
  if (id === null || status === null) return null;
  const nsfw = value["has_nsfw_contents"];
  return {
    prediction_id: id,
    status,
    model: str(value, "model"),
    pending: bool(value, "pending") ?? false,
    outputs: strings(value, "outputs") ?? [],
    has_nsfw_contents: Array.isArray(nsfw) ? nsfw.map((item) => item === true) : [],
    saved_paths: strings(value, "saved_paths") ?? [],
    created_at: str(value, "created_at"),
    error: str(value, "error"),
    error_code: num(value, "error_code"),
    inference_ms: num(value, "inference_ms"),
    elapsed_seconds: num(value, "elapsed_seconds"),
    polls: num(value, "polls"),
    next_step: str(value, "next_step"),
    variant: str(value, "variant"),
    inputs: strings(value, "inputs"),
    seed: num(value, "seed"),
    size: str(value, "size"),
    cost_usd: num(value, "cost_usd"),
    masked: bool(value, "masked"),
    mask_coverage: num(value, "mask_coverage"),
    mask: str(value, "mask"),
    variations: readVariations(value["variations"]),
  };
}

function readVariations(value: unknown): Variation[] | null {
  if (!Array.isArray(value)) return null;
  return value.filter(isObject).map((item) => ({
    prediction_id: str(item, "prediction_id"),
    seed: num(item, "seed"),
    status: str(item, "status"),
    pending: bool(item, "pending") ?? false,
    outputs: strings(item, "outputs") ?? [],
    saved_paths: strings(item, "saved_paths") ?? [],
    cost_usd: num(item, "cost_usd"),
    error: str(item, "error"),
  }));
}

export function readArgs(value: unknown): EditArgs {
  const obj = isObject(value) ? value : {};
  return {
    prompt: str(obj, "prompt"),
    image: str(obj, "image"),
    images: strings(obj, "images"),
    seed: num(obj, "seed"),
    model: str(obj, "model"),
    size: str(obj, "size"),
    mask: str(obj, "mask"),
    variations: num(obj, "variations"),
    prediction_id: str(obj, "prediction_id"),
  };
}

export const EMPTY_ARGS: EditArgs = readArgs({});

/** The input images of an edit, best source first: what the server reports, else what was sent. */
export function inputsOf(report: Report | null, args: EditArgs): string[] {
  if (report?.inputs && report.inputs.length > 0) return report.inputs;
  if (args.images && args.images.length > 0) return args.images;
  return args.image ? [args.image] : [];
}

/** How the view can show an image reference: through preview_image, directly, or not at all (and why). */
export type Showable = { kind: "preview"; source: string } | { kind: "inline"; url: string } | { kind: "none"; why: string };

export function showable(ref: string): Showable {
  const trimmed = ref.trim();
  if (/^data:image\/[a-z0-9.+-]+;base64,/i.test(trimmed)) return { kind: "inline", url: trimmed };
  if (/^(https?|file):\/\//i.test(trimmed) || trimmed.startsWith("/") || trimmed.startsWith("~")) {
    return { kind: "preview", source: trimmed };
  }
  if (/^[a-z]:[\\/]/i.test(trimmed)) return { kind: "preview", source: trimmed };
  return { kind: "none", why: "it was sent inline as base64 data" };
}

/** A short label for a model id or variant: "wavespeed-ai/qwen-image/edit-plus" -> "edit-plus". */
export function shortModel(model: string): string {
  const parts = model.split("/");
  return parts[parts.length - 1] || model;
}

/** A file name for a download, from a URL or path. */
export function fileNameOf(ref: string): string {
  const path = ref.split(/[?#]/)[0] ?? ref;
  const name = path.split(/[\\/]/).pop() ?? "";
  return name || "edited-image";
}

export function isWebUrl(ref: string): boolean {
  return /^https?:\/\//i.test(ref);
}
