// The SoftHSM2 token of the test run, as a gateway connection. deploy/softhsm.sh prints the
// variables; without them the test fails rather than guess.
export function softhsmConnection(name: string, extra: Record<string, unknown> = {}) {
  const { KMSGW_PKCS11_MODULE: module, KMSGW_PKCS11_TOKEN: token, KMSGW_PKCS11_PIN_FILE: pinFile } = process.env;
  if (!module || !token || !pinFile || !process.env.SOFTHSM2_CONF) {
    throw new Error('the SoftHSM2 token is not set up: run the suite with deploy/test.sh, which runs deploy/softhsm.sh');
  }
  return { name, provider: 'pkcs11', module, token, pinFile, ...extra };
}
