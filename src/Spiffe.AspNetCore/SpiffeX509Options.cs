namespace Spiffe.AspNetCore;

/// <summary>X509-SVID settings of <see cref="SpiffeOptions"/> (<c>Spiffe:X509</c>).</summary>
public sealed class SpiffeX509Options
{
    /// <summary>
    /// The SPIFFE ID of the X509-SVID the <c>X509Source</c> presents when the Workload API issues the
    /// workload several (<c>Spiffe:X509:Id</c>); null: the agent's first (default) SVID. An update without
    /// this ID is refused (the previous SVID stays) and the refusal, naming the IDs that were issued,
    /// becomes the source's last error, so a start that never gets it fails with that message.
    /// Useful with <c>spiffe dev-agent</c>, which issues every ID to every caller.
    /// </summary>
    public string? Id { get; set; }
}
