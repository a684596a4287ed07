/**
 * The one dtype table. Every tensor that crosses a package boundary is `{ dtype, shape, data }`
 * with `data` the storage array this table names: floats narrower than fp32 are kept as their bit
 * patterns (Uint16Array for f16/bf16, Uint8Array for fp8), never as JS numbers, so a tensor's
 * bytes are exactly what a kernel reads.
 */

export type DType = 'f32' | 'f16' | 'bf16' | 'fp8e4m3' | 'i8' | 'i32';
export type FloatDType = 'f32' | 'f16' | 'bf16' | 'fp8e4m3';
/** Dtypes an activation (and a GEMM input/output) may have. */
export type ActDType = 'f32' | 'f16' | 'bf16';

/** Storage array for each dtype. */
export interface StorageOf {
  f32: Float32Array;
  f16: Uint16Array;
  bf16: Uint16Array;
  fp8e4m3: Uint8Array;
  i8: Int8Array;
  i32: Int32Array;
}
export type Storage = StorageOf[DType];

export interface DTypeInfo {
  readonly name: DType;
  /** Bytes per element. */
  readonly bytes: number;
  readonly isFloat: boolean;
  /** Name in safetensors / numpy (`F16`, `<f2`, …) terms, for loaders and messages. */
  readonly safetensors: string;
}

export const DTYPES: { readonly [D in DType]: DTypeInfo } = {
  f32: { name: 'f32', bytes: 4, isFloat: true, safetensors: 'F32' },
  f16: { name: 'f16', bytes: 2, isFloat: true, safetensors: 'F16' },
  bf16: { name: 'bf16', bytes: 2, isFloat: true, safetensors: 'BF16' },
  fp8e4m3: { name: 'fp8e4m3', bytes: 1, isFloat: true, safetensors: 'F8_E4M3' },
  i8: { name: 'i8', bytes: 1, isFloat: false, safetensors: 'I8' },
  i32: { name: 'i32', bytes: 4, isFloat: false, safetensors: 'I32' },
};

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPES, s);
}

const STORAGE_CTOR = {
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  fp8e4m3: Uint8Array,
  i8: Int8Array,
  i32: Int32Array,
} as const;

/** A new zeroed storage array of `n` elements for `dtype`. */
export function allocStorage<D extends DType>(dtype: D, n: number): StorageOf[D] {
  return new STORAGE_CTOR[dtype](n) as StorageOf[D];
}

/**
 * A storage array of `dtype` viewing an existing buffer (page-locked memory from the CUDA addon, an
 * engine file read at once): from `byteOffset` (a multiple of the element size), `length` elements.
 */
export function storageOver<D extends DType>(dtype: D, buffer: ArrayBuffer, byteOffset = 0, length?: number): StorageOf[D] {
  return new STORAGE_CTOR[dtype](buffer, byteOffset, length ?? (buffer.byteLength - byteOffset) / DTYPES[dtype].bytes) as StorageOf[D];
}

/** The dtype whose safetensors name is `name` (F16, BF16 …), if it is one of ours. */
export function dtypeOfSafetensorsName(name: string): DType | undefined {
  return (Object.keys(DTYPES) as DType[]).find((d) => DTYPES[d].safetensors === name);
}
