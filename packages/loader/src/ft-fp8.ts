/**
 * FP8 calibration in an FT checkpoint (`convert --qformat fp8`, our addition: the seed's FP8 scales
 * come from an external quantization toolkit). Per layer N and quantized linear layer, written once
 * (rank-less) as raw little-endian fp32 [1]:
 *
 *   model.layers.N.<base>.activation_amax.bin      max |x| of the GEMM's input over the calibration
 *
 *   linear   base
 *   qkv      attention.query_key_value
 *   attnOut  attention.dense
 *   fc       mlp.dense_h_to_4h
 *   gate     mlp.dense_h_to_4h.gate        (swiglu models)
 *   proj     mlp.dense_4h_to_h
 *
 * The e4m3 scales follow at build time (@trtllm/quant generateFp8): the activation's from this range,
 * scale_x_orig_quant = 448 / amax; each weight's from the weight itself, max |W| / 448 — so the file
 * holds only what the weights cannot tell.
 */
import { join } from 'node:path';
import { tensor, type GptConfig, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { readRawTensor } from './files.js';

export type Fp8LinearName = 'qkv' | 'attnOut' | 'fc' | 'gate' | 'proj';

const BASE: Record<Fp8LinearName, string> = { qkv: 'attention.query_key_value', attnOut: 'attention.dense', fc: 'mlp.dense_h_to_4h', gate: 'mlp.dense_h_to_4h.gate', proj: 'mlp.dense_4h_to_h' };

/** The linear layers FP8 quantizes in a model of this config (gate only in swiglu models), in layer order. */
export function fp8LinearsOf(config: GptConfig): Fp8LinearName[] {
  return ['qkv', 'attnOut', 'fc', ...(config.activation === 'swiglu' ? ['gate' as const] : []), 'proj'];
}

/** The activation range file of one linear layer. */
export const fp8AmaxFile = (layer: number, linear: Fp8LinearName): string => `model.layers.${layer}.${BASE[linear]}.activation_amax.bin`;

/** What convert --qformat fp8 writes for one linear layer: file name → tensor. */
export function ftFp8Files(layer: number, linear: Fp8LinearName, amax: number): Map<string, Tensor> {
  return new Map<string, Tensor>([[fp8AmaxFile(layer, linear), tensor('f32', [1], Float32Array.of(amax))]]);
}

/**
 * One linear layer's activation range from the checkpoint in `dir`: present, 4 bytes, finite and > 0
 * (a zero range has no e4m3 scale), or a typed error naming the file and the fix.
 */
export function readFtFp8Amax(dir: string, layer: number, linear: Fp8LinearName): number {
  const path = join(dir, fp8AmaxFile(layer, linear));
  const item = `layers.${layer}.${linear} activation range`;
  const t = readRawTensor(path, 'f32', [1], item, 're-run trtllm convert --qformat fp8', '1 fp32');
  if (!t) throw new LoaderError('missing', { file: path, item, expected: '4 bytes (1 fp32)', got: 'no such file', hint: 'this checkpoint has no FP8 calibration: convert with --qformat fp8 --calib-dataset FILE, or build without --enable_fp8' });
  const v = t.data[0]!;
  if (!(v > 0) || !Number.isFinite(v)) throw new LoaderError('format', { file: path, item, expected: 'a finite max |x| > 0', got: String(v), hint: 're-run trtllm convert --qformat fp8' });
  return v;
}
