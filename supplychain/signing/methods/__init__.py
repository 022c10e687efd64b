"""Signing methods: one signer and one verifier per way of establishing who signed.

- :mod:`.interface`: the ``Signer`` / ``Verifier`` interfaces and their results;
- :mod:`.key`: an ECDSA key pair (the verifier holds the public key);
- :mod:`.certificate`: a key plus an X.509 certificate chain to a trusted root;
- :mod:`.keyless`: Sigstore keyless, an OIDC identity bound by Fulcio and logged in Rekor.

Import them from :mod:`supplychain.signing`, which loads each module on first use.
"""
