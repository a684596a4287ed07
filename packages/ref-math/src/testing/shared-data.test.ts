// Under CI the shared data is required: its absence fails here, naming each missing file, instead of
// quietly skipping the tests that read it. Outside CI this test reports what is missing and passes.
import { describe, expect, it } from 'vitest';
import { IN_CI, SHARED_DATA_FILES, SHARED_DIR, sharedData } from './shared-data.js';

describe(`shared data (${SHARED_DIR})`, () => {
  const missing = SHARED_DATA_FILES.filter((rel) => !sharedData(rel).present);
  it.runIf(IN_CI)(IN_CI ? 'is all present under CI' : 'is all present under CI (skipped: CI is not set; outside CI a missing file skips the tests that read it, titled so)', () => {
    expect(missing, `missing under ${SHARED_DIR}: lay out shared/ beside the checkout or set TRTLLM_SHARED_DIR`).toEqual([]);
  });
  it('the gate skips a missing file only outside CI, and says so in the title', () => {
    const gate = sharedData('no/such/file.bin');
    expect(gate.present).toBe(false);
    expect(gate.skip).toBe(!IN_CI);
    expect(gate.title('t')).toBe(IN_CI ? 't' : `t (skipped: ${gate.path} not found; set TRTLLM_SHARED_DIR)`);
  });
});
