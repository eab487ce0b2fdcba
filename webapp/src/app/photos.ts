/**
 * Photos are shrunk on the phone before they are stored or sent: the long side to about 1600 px,
 * JPEG, a few hundred KB (DESIGN §5). A 20 MB camera photo becomes ~300 KB; the server still
 * checks and re-encodes what it gets.
 */
import type { NewPhoto } from './outbox'
import { uuid4 } from '@/shared/uuid'
import type { PhotoMeta } from './db'
import { drawWatermark, type WatermarkInfo } from './watermark'

export const MAX_SIDE = 1600
export const TARGET_BYTES = 450 * 1024
/** Larger than this we do not even try to decode (a phone would run out of memory). */
export const MAX_INPUT_BYTES = 40 * 1024 * 1024

export class PhotoError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PhotoError'
  }
}

/** The size to draw at: the long side at most `max`, never enlarged. */
export function fitSize(width: number, height: number, max = MAX_SIDE): { width: number; height: number } {
  const long = Math.max(width, height)
  if (long <= max) return { width, height }
  const k = max / long
  return { width: Math.max(1, Math.round(width * k)), height: Math.max(1, Math.round(height * k)) }
}

interface Decoded {
  source: CanvasImageSource
  width: number
  height: number
  close: () => void
}

async function decode(file: Blob): Promise<Decoded> {
  if (typeof createImageBitmap === 'function') {
    try {
      const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' } as ImageBitmapOptions)
      return { source: bmp, width: bmp.width, height: bmp.height, close: () => bmp.close() }
    } catch {
      // fall back to <img> (older Safari, unusual formats the element can still show)
    }
  }
  const url = URL.createObjectURL(file)
  try {
    const img = new Image()
    img.decoding = 'async'
    img.src = url
    await img.decode()
    return { source: img, width: img.naturalWidth, height: img.naturalHeight, close: () => URL.revokeObjectURL(url) }
  } catch {
    URL.revokeObjectURL(url)
    throw new PhotoError('无法读取这张照片（格式不支持或文件已损坏），请换一张或重新拍摄')
  }
}

function canvasToBlob(canvas: HTMLCanvasElement, quality: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new PhotoError('照片压缩失败，请重试'))), 'image/jpeg', quality)
  })
}

/**
 * When a photo was taken: the file's time when it is plausible (a camera capture: just now; a
 * photo from the gallery: when it was saved), else now.
 */
export function capturedAt(file: { lastModified?: number }, now: number): number {
  const t = file.lastModified
  return t && Number.isFinite(t) && t <= now + 60_000 && t > now - 366 * 24 * 3600_000 ? Math.min(t, now) : now
}

/** A photo whose file is older than this was not just taken with the camera. */
export const EARLIER_MS = 2 * 60_000

/**
 * The watermark of a photo: taken now with the camera, the phone's time and place; taken
 * earlier (from the gallery), its own time, but the phone's position now is not where it was
 * taken, so no place is stated, on the picture or in the upload.
 */
export function watermarkFor(mark: Omit<WatermarkInfo, 'at'>, file: { lastModified?: number }, now: number): WatermarkInfo {
  const at = capturedAt(file, now)
  if (now - at <= EARLIER_MS) return { ...mark, at }
  return { ...mark, at, lon: null, lat: null, accuracy: null, earlier: true }
}

/** What the upload's begin says about a watermarked photo (POST /uploads). */
export function photoMeta(w: WatermarkInfo): PhotoMeta {
  const has = w.lon != null && w.lat != null
  return {
    captured_at: new Date(w.at).toISOString(),
    lon: has ? w.lon : null,
    lat: has ? w.lat : null,
    accuracy_m: has && w.accuracy != null ? Math.round(w.accuracy * 10) / 10 : null,
    watermarked: true,
    source: 'field',
  }
}

/**
 * Shrink one picked or captured photo to a JPEG ready for the outbox; with `mark`, the
 * watermark (time, place, grid, worker) is drawn on it and its facts go with the upload.
 */
export async function shrinkPhoto(file: File, mark?: Omit<WatermarkInfo, 'at'> | null, now = Date.now()): Promise<NewPhoto & { preview: string }> {
  if (file.size > MAX_INPUT_BYTES) {
    throw new PhotoError(`照片太大（${Math.round(file.size / 1024 / 1024)} MB），无法处理，请用相机重新拍摄`)
  }
  if (file.type && !file.type.startsWith('image/')) throw new PhotoError('只能选择图片')
  let decoded: Decoded
  try {
    decoded = await decode(file)
  } catch (err) {
    if (err instanceof PhotoError) throw err
    throw new PhotoError('无法读取这张照片，请换一张或重新拍摄')
  }
  try {
    const { width, height } = fitSize(decoded.width, decoded.height)
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d')
    if (!ctx) throw new PhotoError('手机内存不足，无法处理照片，请关闭其他应用后重试')
    ctx.fillStyle = '#fff'
    ctx.fillRect(0, 0, width, height)
    ctx.imageSmoothingQuality = 'high'
    ctx.drawImage(decoded.source, 0, 0, width, height)
    const w: WatermarkInfo | null = mark ? watermarkFor(mark, file, now) : null
    if (w) drawWatermark(ctx, width, height, w)
    let blob = await canvasToBlob(canvas, 0.82)
    for (const q of [0.72, 0.6, 0.5]) {
      if (blob.size <= TARGET_BYTES) break
      blob = await canvasToBlob(canvas, q)
    }
    canvas.width = canvas.height = 0
    const data = await blob.arrayBuffer()
    return {
      uuid: uuid4(),
      data,
      type: 'image/jpeg',
      name: (file.name || 'photo').replace(/\.[^.]*$/, '') + '.jpg',
      width,
      height,
      ...(w ? { meta: photoMeta(w) } : {}),
      preview: URL.createObjectURL(blob),
    }
  } catch (err) {
    if (err instanceof PhotoError) throw err
    throw new PhotoError('照片处理失败（可能手机内存不足），请重试')
  } finally {
    decoded.close()
  }
}

export function previewUrl(data: ArrayBuffer, type = 'image/jpeg'): string {
  return URL.createObjectURL(new Blob([data], { type }))
}
