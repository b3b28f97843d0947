// Builds the viewer into ONE self-contained HTML file (script and style inlined, no network references) that
// ships inside the Python package, and optionally the test host page. Deterministic: the same sources and the
// same locked packages give the same bytes, which CI checks by rebuilding and comparing.
//
//   node build.mjs                      writes the shipped viewer
//   node build.mjs --out FILE           writes the viewer elsewhere (the freshness test compares the two)
//   node build.mjs --host-out FILE      also writes the test host page (never committed)

import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const SHIPPED = resolve(here, "../server/qwen_image_edit_mcp/surface/view/viewer.html");

function option(name) {
  const index = process.argv.indexOf(name);
  return index === -1 ? null : resolve(process.cwd(), process.argv[index + 1]);
}

async function bundle(entry) {
  const result = await esbuild.build({
    entryPoints: [resolve(here, entry)],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

async function css(file) {
  const result = await esbuild.transform(await readFile(resolve(here, file), "utf8"), {
    loader: "css",
    minify: true,
    charset: "utf8",
  });
  return result.code;
}

/** Put the script and style into the template; refuse anything that would end the element early. */
function inline(template, script, style) {
  if (/<\/script/i.test(script) || /<!--/.test(script)) throw new Error("the bundle contains </script or <!--");
  if (/<\/style/i.test(style)) throw new Error("the stylesheet contains </style");
  const parts = template.split("/*__SCRIPT__*/");
  if (parts.length !== 2 || !parts[0].includes("/*__STYLE__*/")) throw new Error("template placeholders missing");
  // split/join, not replace(): a "$&" in the bundle must stay as it is.
  return parts[0].split("/*__STYLE__*/").join(style.trim()) + script.trim() + parts[1];
}

/** The page loads nothing: no external script or stylesheet, no CSS import or remote url(). */
function checkSelfContained(template, style, name) {
  const checks = [
    [template, /<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|<iframe/i],
    [style, /@import|url\(\s*["']?(https?:)?\/\//i],
  ];
  for (const [text, pattern] of checks) {
    if (pattern.test(text)) throw new Error(`${name} is not self-contained: it matches ${pattern}`);
  }
}

async function page(template, entry, style) {
  const html = await readFile(resolve(here, template), "utf8");
  const styles = await css(style);
  checkSelfContained(html, styles, template);
  return inline(html, await bundle(entry), styles);
}

async function write(file, text) {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text, "utf8");
  console.log(`wrote ${file} (${Buffer.byteLength(text)} bytes)`);
}

const viewer = await page("src/viewer.html", "src/viewer.ts", "src/viewer.css");
await write(option("--out") ?? SHIPPED, viewer);
const hostOut = option("--host-out");
if (hostOut !== null) await write(hostOut, await page("host/host.html", "host/host.ts", "host/host.css"));
