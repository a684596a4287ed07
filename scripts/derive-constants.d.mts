/** Types of derive-constants.mjs, for tests that import it. */
export interface DerivedConstants {
  LOG2E: number;
  LN2_HI: number;
  LN2_LO: number;
  EXP_C: number[];
  TANH_C: number[];
  SIN_C: number[];
  COS_C: number[];
  PIO2: number[];
  TWO_OVER_PI: number;
  GELU_K0: number;
  GELU_K1: number;
}
export function deriveConstants(): DerivedConstants;
