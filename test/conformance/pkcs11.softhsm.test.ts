// Conformance of the `pkcs11` provider against a real PKCS#11 token: SoftHSM2, installed and
// initialised by deploy/softhsm.sh (deploy/test.sh does it). Any token works the same with the
// KMSGW_PKCS11_* variables pointing at its module, label and PIN file.
import { conformance } from './scenarios.ts';
import { softhsmConnection } from '../support/softhsm.ts';

conformance({
  provider: 'pkcs11',
  connection: 'hsm',
  config: { connections: [{ name: 'local', provider: 'local' }, softhsmConnection('hsm')] },
});
