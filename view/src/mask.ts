// The outline of a mask (white = the region to edit), drawn on a canvas laid over both images.

const MAX_SIDE = 1024;
const OUTLINE: [number, number, number] = [255, 0, 200];

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error("the mask image could not be decoded"));
    image.src = url;
  });
}

/** Draw the edge of the mask's white region; returns the share of pixels inside it (0..1). */
export async function drawMaskOutline(canvas: HTMLCanvasElement, maskUrl: string): Promise<number> {
  const image = await loadImage(maskUrl);
  const scale = Math.min(1, MAX_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
  const width = Math.max(1, Math.round(image.naturalWidth * scale));
  const height = Math.max(1, Math.round(image.naturalHeight * scale));
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (context === null) throw new Error("this browser cannot draw the mask");
  context.drawImage(image, 0, 0, width, height);
  const source = context.getImageData(0, 0, width, height).data;
  const inside = new Uint8Array(width * height);
  let count = 0;
  for (let i = 0; i < inside.length; i++) {
    const o = i * 4;
    const light = (source[o]! + source[o + 1]! + source[o + 2]!) / 3;
    // Transparent pixels count as outside, whatever their colour.
    if (light >= 128 && source[o + 3]! >= 128) {
      inside[i] = 1;
      count++;
    }
  }
  const out = context.createImageData(width, height);
  const thickness = Math.max(1, Math.round(Math.max(width, height) / 400));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!inside[y * width + x] || !isEdge(inside, width, height, x, y)) continue;
      paint(out.data, width, height, x, y, thickness);
    }
  }
  context.putImageData(out, 0, 0);
  return count / inside.length;
}

function isEdge(inside: Uint8Array, width: number, height: number, x: number, y: number): boolean {
  if (x === 0 || y === 0 || x === width - 1 || y === height - 1) return true;
  const i = y * width + x;
  return !inside[i - 1] || !inside[i + 1] || !inside[i - width] || !inside[i + width];
}

function paint(data: Uint8ClampedArray, width: number, height: number, x: number, y: number, r: number): void {
  for (let dy = -r + 1; dy < r; dy++) {
    for (let dx = -r + 1; dx < r; dx++) {
      const px = x + dx;
      const py = y + dy;
      if (px < 0 || py < 0 || px >= width || py >= height) continue;
      const o = (py * width + px) * 4;
      data[o] = OUTLINE[0];
      data[o + 1] = OUTLINE[1];
      data[o + 2] = OUTLINE[2];
      data[o + 3] = 255;
    }
  }
}
