using System.Text;
using System.Text.Json;
using Spiffe.Internal;

namespace Spiffe.Core.Tests.Robustness;

/// <summary>
/// The string check every untrusted-JSON parser runs first: its escape-free fast path must judge
/// exactly like the full tokenizing pass.
/// </summary>
public sealed class JsonTextTests
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 32 };

    public static TheoryData<string, byte[], bool> Cases => new()
    {
        { "plain ASCII, no escape", Encoding.UTF8.GetBytes("{\"sub\":\"spiffe://example.org/web\",\"exp\":1}"), true },
        { "non-ASCII UTF-8, no escape", Encoding.UTF8.GetBytes("{\"name\":\"caf\u00e9 \U0001F600\"}"), true },
        { "invalid UTF-8 in a value, no escape", [.. "{\"k\":\""u8, 0xFF, .. "\"}"u8], false },
        { "invalid UTF-8 in a member name, no escape", [.. "{\""u8, 0xC3, .. "\":1}"u8], false },
        { "invalid UTF-8 outside any string (left to the parser)", [.. "{\"k\":1}"u8, 0xFF], true },
        { "valid escapes", Encoding.ASCII.GetBytes("{\"k\":\"\\u0073\\/\\ud83d\\ude00\"}"), true },
        { "unpaired surrogate escape in a value", Encoding.ASCII.GetBytes("{\"k\":\"\\ud800\"}"), false },
        { "unpaired surrogate escape in a member name", Encoding.ASCII.GetBytes("{\"\\udc00\":1}"), false },
        { "invalid UTF-8 next to an escape", [.. "{\"k\":\"\\n"u8, 0xFF, .. "\"}"u8], false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void StringsAreValid_JudgesEveryStringOfTheDocument(string description, byte[] json, bool expected)
    {
        Assert.True(expected == JsonText.StringsAreValid(json, Options), description);
    }
}
