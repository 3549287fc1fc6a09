namespace Spiffe.Files;

/// <summary>The file names a <see cref="FileX509Source"/> looks for, by the tool that writes them.</summary>
public enum FileSvidLayout
{
    /// <summary>
    /// cert-manager's csi-driver-spiffe: <c>tls.crt</c> (the SVID chain), <c>tls.key</c> (its key)
    /// and <c>ca.crt</c> (the trust domain's bundle). The default.
    /// </summary>
    CsiDriverSpiffe = 0,

    /// <summary>spiffe-helper: <c>svid.pem</c>, <c>svid_key.pem</c> and <c>svid_bundle.pem</c>.</summary>
    SpiffeHelper = 1,
}
