namespace Spiffe.AspNetCore.Authorization;

internal sealed class SpiffeIdMatchFeature(SpiffeIdTemplate template, IReadOnlyDictionary<string, string> values) : ISpiffeIdMatchFeature
{
    public SpiffeIdTemplate Template { get; } = template;

    public IReadOnlyDictionary<string, string> Values { get; } = values;
}
