namespace Spiffe.Testing;

/// <summary>
/// One <c>X509SVID</c> message of the Workload API, as raw protocol fields. The server sends the bytes
/// exactly as given and never parses them, so a test can push well-formed SVIDs or deliberately broken
/// ones (empty fields, garbage DER, a key that does not match the leaf).
/// </summary>
/// <param name="SpiffeId">The <c>spiffe_id</c> field; an empty string sends the field at its default.</param>
/// <param name="CertificateChainDer">The <c>x509_svid</c> field: concatenated DER certificates, leaf first.</param>
/// <param name="PrivateKeyPkcs8Der">The <c>x509_svid_key</c> field: the leaf's unencrypted PKCS#8 DER key.</param>
/// <param name="BundleDer">The <c>bundle</c> field: concatenated DER CA certificates of the SVID's trust domain.</param>
/// <param name="Hint">The optional <c>hint</c> field; <see langword="null"/> sends it empty.</param>
/// <example>
/// <code>
/// server.SetX509Svids([new WorkloadApiX509Svid("spiffe://example.org/api", chainDer, keyDer, bundleDer)]);
/// </code>
/// </example>
public sealed record WorkloadApiX509Svid(
    string SpiffeId,
    byte[] CertificateChainDer,
    byte[] PrivateKeyPkcs8Der,
    byte[] BundleDer,
    string? Hint = null);
