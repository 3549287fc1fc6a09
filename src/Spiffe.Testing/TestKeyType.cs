namespace Spiffe.Testing;

/// <summary>The key types the test certificate authority can create.</summary>
public enum TestKeyType
{
    /// <summary>ECDSA on NIST P-256, signing with SHA-256.</summary>
    EcdsaP256 = 0,

    /// <summary>ECDSA on NIST P-384, signing with SHA-384.</summary>
    EcdsaP384,

    /// <summary>ECDSA on NIST P-521, signing with SHA-512.</summary>
    EcdsaP521,

    /// <summary>RSA 2048-bit, signing with SHA-256 and PKCS#1 v1.5 padding.</summary>
    Rsa2048,
}
