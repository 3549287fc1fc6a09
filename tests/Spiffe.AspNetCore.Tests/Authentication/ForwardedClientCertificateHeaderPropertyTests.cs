using System.Text;
using CsCheck;
using Spiffe.AspNetCore.Authentication;

namespace Spiffe.AspNetCore.Tests.Authentication;

/// <summary>
/// Property tests (CsCheck, with shrinking) of the XFCC reader: any header written in Envoy's documented
/// format reads back to the same fields; any string at all gives either a complete result or a reason,
/// never an exception and never a partial result.
/// </summary>
public sealed class ForwardedClientCertificateHeaderPropertyTests
{
    private static readonly System.Buffers.SearchValues<char> s_quoted = System.Buffers.SearchValues.Create(",;=\" \\");
    private static readonly string[] s_singleKeys = ["By", "Hash", "Cert", "Chain", "Subject", "URI"];

    // Values over the characters that matter to the grammar, plus ordinary text.
    private static readonly Gen<string> s_value = Gen.String[Gen.Char["=;,\"\\ abcXYZ:/.%-0123456789"], 0, 24];

    private static readonly Gen<ForwardedClientCertificate> s_element =
        Gen.Select(
            Gen.Select(s_value, Gen.Bool, static (v, present) => present ? v : null).Array[s_singleKeys.Length],
            s_value.List[0, 3],
            static (singles, dns) => new ForwardedClientCertificate(singles[0], singles[1], singles[2], singles[3], singles[4], singles[5], dns))
        .Where(static e => e.By is not null || e.Hash is not null || e.Cert is not null || e.Chain is not null || e.Subject is not null || e.Uri is not null || e.Dns.Count > 0);

    [Fact]
    public void TryParse_WrittenInDocumentedFormat_ReadsBackSameFields()
    {
        Gen.Select(s_element.List[1, 5], Gen.Bool).Sample(
            input =>
            {
                (List<ForwardedClientCertificate> elements, bool spaceAfterComma) = input;
                string header = string.Join(spaceAfterComma ? ", " : ",", elements.Select(Write));

                Assert.True(ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? read, out string? error), error);
                Assert.Equal(elements.Count, read.Count);
                for (int i = 0; i < elements.Count; i++)
                {
                    Assert.Equal(elements[i] with { Dns = [] }, read[i] with { Dns = [] });
                    Assert.Equal(elements[i].Dns, read[i].Dns);
                }
            },
            iter: 5_000,
            print: input => string.Join(",", input.Item1.Select(Write)));
    }

    [Fact]
    public void TryParse_AnyString_CompleteResultOrReasonNeverThrows()
    {
        Gen.String[Gen.Char["=;,\"\\ \tbyBYhasURIDNSubject:/.%\u0000\u00e9"], 0, 80].Sample(
            header =>
            {
                bool ok = ForwardedClientCertificateHeader.TryParse(header, out IReadOnlyList<ForwardedClientCertificate>? read, out string? error);
                Assert.True(ok ? read is { Count: > 0 } && error is null : read is null && !string.IsNullOrEmpty(error));
            },
            iter: 20_000);
    }

    private static string Write(ForwardedClientCertificate e)
    {
        var pairs = new List<string>();
        void Add(string key, string? value)
        {
            if (value is not null)
            {
                pairs.Add(key + "=" + Quote(value));
            }
        }

        Add("By", e.By);
        Add("Hash", e.Hash);
        Add("Cert", e.Cert);
        Add("Chain", e.Chain);
        Add("Subject", e.Subject);
        Add("URI", e.Uri);
        foreach (string dns in e.Dns)
        {
            Add("DNS", dns);
        }

        return string.Join(';', pairs);
    }

    // Envoy quotes a value that contains ',', ';' or '=' and escapes quotes inside; quoting also covers
    // the characters this reader refuses unquoted (space, quote, backslash).
    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(s_quoted) < 0
            ? value
            : new StringBuilder("\"").Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"').ToString();
}
