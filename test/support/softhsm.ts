// The SoftHSM2 token of the test run, as a gateway connection, and a look at its objects from the
// test's side. deploy/softhsm.sh prints the variables; without them the test fails rather than guess.
import pkcs11js from 'pkcs11js';

export function softhsmConnection(name: string, extra: Record<string, unknown> = {}) {
  const { KMSGW_PKCS11_MODULE: module, KMSGW_PKCS11_TOKEN: token, KMSGW_PKCS11_PIN_FILE: pinFile } = process.env;
  if (!module || !token || !pinFile || !process.env.SOFTHSM2_CONF) {
    throw new Error('the SoftHSM2 token is not set up: run the suite with deploy/test.sh, which runs deploy/softhsm.sh');
  }
  return { name, provider: 'pkcs11', module, token, pinFile, ...extra };
}

/** The same library the gateway loaded (dlopen shares it): what it does here, it does to the gateway. */
export function sameModule() {
  const lib = new pkcs11js.PKCS11();
  lib.load(process.env.KMSGW_PKCS11_MODULE!);
  const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === process.env.KMSGW_PKCS11_TOKEN)!;
  return { lib, slot };
}

/** The token's objects labelled `label`, seen through a session of the test's own. */
export function labelled(label: string) {
  const { lib, slot } = sameModule();
  const s = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
  try {
    lib.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    const found = lib.C_FindObjects(s, 10);
    lib.C_FindObjectsFinal(s);
    return found;
  } finally {
    lib.C_CloseSession(s);
  }
}
