using Spiffe;
using Spiffe.WorkloadApi;
using Spiffe.X509;

namespace Spiffe.Samples;

/// <summary>Opens the workload's X509Source on the Workload API and makes it present one chosen SPIFFE ID.</summary>
internal static class SampleIdentity
{
    /// <summary>
    /// A real SPIRE agent issues a workload only the SVIDs registered for it, so the first (default)
    /// SVID is already the right one. <c>spiffe dev-agent</c> issues every configured ID to every
    /// caller, the first being the default, so each sample picks its own SVID by ID with
    /// <see cref="X509SourceOptions.Picker"/>. When the agent does not issue that ID at all, this
    /// fails at once with the IDs it does issue instead of waiting for the start timeout.
    /// </summary>
    public static async Task<X509Source> OpenAsync(SpiffeId id, CancellationToken cancellationToken)
    {
        string? offered = null;
        // Not disposed on purpose: the picker runs on every later update too, and cancelling a
        // source nobody listens to any more is harmless (it owns no timer and no registration).
        var missing = new CancellationTokenSource();
        using var startCancelled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, missing.Token);
        var options = new X509SourceOptions
        {
            // Returning no SVID makes the source discard the update and keep waiting (see X509Source);
            // here the first such update also ends the wait with a clear message.
            Picker = svids =>
            {
                X509Svid? mine = svids.FirstOrDefault(s => s.Id == id);
                if (mine is null)
                {
                    Volatile.Write(ref offered, string.Join(", ", svids.Select(s => s.Id.ToString())));
                    missing.Cancel();
                }

                return mine!;
            },
        };

        try
        {
            return await X509Source.CreateAsync(options, startCancelled.Token);
        }
        catch (WorkloadApiException) when (Volatile.Read(ref offered) is { } ids && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"The Workload API at {Environment.GetEnvironmentVariable(WorkloadApiAddress.EnvironmentVariable)} issues this workload {ids} but not {id}. " +
                "Register an entry for it (SPIRE) or add --id to spiffe dev-agent, or pass this sample's --id.");
        }
    }
}
