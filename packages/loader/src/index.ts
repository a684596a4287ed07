/**
 * @trtllm/loader — checkpoints in: a validating, streaming safetensors reader; HF config.json →
 * GptConfig; HF GPT-2 weights → the oracle's GptWeights; GPT-2 byte-level BPE.
 */
export { LoaderError, type LoaderErrorKind, type LoaderErrorData } from './errors.js';
export { SafetensorsFile, encodeSafetensors, type SafetensorsEntry } from './safetensors.js';
export { parseHfConfig, type HfModelConfig, type HfArchitecture } from './hf-config.js';
export { loadHfGpt2, type LoadOptions } from './hf-gpt.js';
export { Gpt2Tokenizer } from './tokenizer.js';
