/**
 * @trtllm/loader — checkpoints in and out: validating readers for safetensors (single and sharded)
 * and torch .bin (a safe unpickler that executes nothing); HF config.json → GptConfig; HF GPT-2,
 * SantaCoder and StarCoder weights → the oracle's GptWeights; FT checkpoints (hf_gpt_convert.py's
 * layout, TP splits) written and read; GPT-2 byte-level BPE.
 */
export { LoaderError, type LoaderErrorKind, type LoaderErrorData } from './errors.js';
export { SafetensorsFile, encodeSafetensors, type SafetensorsEntry } from './safetensors.js';
export { ZipArchive, type ZipEntry } from './zip.js';
export { unpickle, type PickleCallable, type UnpickleOptions } from './pickle.js';
export { TorchCheckpoint } from './torch-bin.js';
export { openHfWeights, ShardedSource, type TensorSource, type TensorInfo, type HfWeightsFormat } from './tensor-source.js';
export { parseHfConfig, type HfModelConfig, type HfArchitecture, type HfGptKind } from './hf-config.js';
export { HfGptCheckpoint, loadHfGpt, type LoadOptions, type OpenHfOptions } from './hf-gpt.js';
export { transpose2d, gatherColumns, concatColumns, sliceRows, castTo, tensorBytes, type ColumnRange } from './layout.js';
export { Gpt2Tokenizer, type PreTokenizer, type Tokenizer, type SpecialIds, type IncrementalDecoder } from './tokenizer.js';
export { SentencePieceTokenizer, parseSentencePieceModel, PIECE_TYPE, type SentencePiece, type SentencePieceModel } from './sentencepiece.js';
export { openTokenizer, TOKENIZER_FILES } from './tokenizer-files.js';
export { NemoArchive, tarMembers, type NemoMember } from './nemo.js';
export { convertNemoToFt, nemoModelConfig, readNemoPromptTable, type NemoConvertOptions, type NemoConvertResult, type NemoModelConfig, type NemoPromptTask } from './nemo-convert.js';
export { parsePyJson, pyRepr, pyStr, pyFloatRepr, formatIni, parseIni, PyDict, PyFloat, type PyValue } from './ini.js';
export { FtCheckpoint, FT_STORAGE, ftLayout, ftShards, ftFiles, writeFtTensor, writeFtFiles, splitShard, mergeShards, shardShape, type FtStorageType, type FtSplit, type FtTensor } from './ft.js';
export { ftInt8Files, readFtInt8, int8BaseKey, int8Shapes, INT8_ARRAYS, INT8_LINEARS, type Int8Arrays, type Int8ArrayName, type Int8LinearName } from './ft-int8.js';
export { ftKvCacheFiles, readFtKvCache, seedKvScaleFile, kvAmaxFile, type FtKvCacheCalibration } from './ft-kv.js';
export { ftFp8Files, readFtFp8Amax, fp8AmaxFile, fp8LinearsOf, type Fp8LinearName } from './ft-fp8.js';
export { readCalibrationTexts } from './calibration-text.js';
export { convertHfToFt, runConvertJob, dealLargestFirst, type ConvertOptions, type ConvertProgress, type ConvertResult, type ConvertJob } from './convert.js';
export { readNpy, writeNpy, type NpyArray } from './npy.js';
export { openFile, readFully, compiledWorker, compiledExecArgv } from './files.js';
