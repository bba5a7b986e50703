// Scenarios a provider's test run relaxes beyond what its capabilities declare, each with its reason;
// `emulator` limits an entry to the runs against that emulator. Keep this list short and every
// reason specific.
export const exceptions: { provider: string; emulator?: string; scenario: string; reason: string }[] = [
  {
    provider: 'aws',
    emulator: 'moto',
    scenario: 'import',
    reason: 'moto 5.2.5 has neither GetParametersForImport nor ImportKeyMaterial (moto/kms/responses.py); the mocked-HTTP run '
      + '(aws.msw.test.ts) imports through the AWS wire protocol instead, and a LocalStack endpoint in AWS_ENDPOINT_URL runs it',
  },
  {
    provider: 'aws',
    scenario: 'pss-salt-length',
    reason: 'moto signs RSASSA-PSS with the maximum salt length (moto/kms/utils.py: padding.PSS.MAX_LENGTH) where AWS KMS uses '
      + 'the hash length; node:crypto checks moto\'s PSS signatures with the salt length recovered from the signature instead',
  },
  ...['wrap-RSAES_OAEP_SHA_256', 'export-RSAES_OAEP_SHA_256', 'export-RSA_AES_KEY_WRAP_SHA_256'].map((scenario) => ({
    provider: 'pkcs11',
    scenario,
    reason: 'SoftHSM2 2.6 does CKM_RSA_PKCS_OAEP with SHA-1 only (CKR_ARGUMENTS_BAD otherwise); the gateway answers 501. HSMs with SHA-256 OAEP pass it',
  })),
  {
    provider: 'pkcs11',
    scenario: 'import-ED25519',
    reason: 'SoftHSM2 2.6 fails (CKR_FUNCTION_FAILED) to unwrap an Ed25519 private key in PKCS#8, so an Ed25519 key cannot be imported into it; '
      + 'the provider answers 501 and nothing is left behind',
  },
  {
    provider: 'pkcs11',
    scenario: 'kwp-unaligned',
    reason: 'SoftHSM2 2.6 zero-pads key material to a multiple of 8 before CKM_AES_KEY_WRAP_PAD (7 bytes wrap as 8), which is not RFC 5649; '
      + 'the provider detects it and answers 501 for such lengths rather than produce a non-standard wrap',
  },
];
