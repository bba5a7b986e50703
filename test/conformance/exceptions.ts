// Scenarios a provider's test run relaxes beyond what its capabilities declare, each with its reason.
// Keep this list short and every reason specific.
export const exceptions: { provider: string; scenario: string; reason: string }[] = [
  {
    provider: 'aws',
    scenario: 'pss-salt-length',
    reason: 'moto signs RSASSA-PSS with the maximum salt length (moto/kms/utils.py: padding.PSS.MAX_LENGTH) where AWS KMS uses '
      + 'the hash length; node:crypto checks moto\'s PSS signatures with the salt length recovered from the signature instead',
  },
];
