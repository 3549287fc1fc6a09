using CsCheck;

namespace Spiffe.Fuzz.Tests;

/// <summary>
/// Structure-aware mutation of seed inputs: every generated input is a seed from the corpus with a
/// few edits (bit flips, interesting bytes, deletions, duplications, truncation, splices with other
/// seeds, and insertions of dictionary tokens such as lone surrogate escapes or DER length bytes).
/// The edits are plain integers, so CsCheck shrinks a failing input towards its seed.
/// </summary>
internal static class Mutator
{
    private static readonly Gen<(int Op, int A, int B, int C)> Edit =
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue]);

    /// <summary>Inputs made from <paramref name="seeds"/> by zero to six edits.</summary>
    public static Gen<T[]> Mutate<T>(IReadOnlyList<T[]> seeds, IReadOnlyList<T[]> dictionary, Func<int, T> fromInt) =>
        Gen.Select(Gen.Int[0, seeds.Count - 1], Edit.Array[0, 6], (seed, edits) => Apply(seeds, seed, edits, dictionary, fromInt));

    /// <summary>Byte inputs (DER, JSON, protobuf fields).</summary>
    public static Gen<byte[]> Bytes(IReadOnlyList<byte[]> seeds, IReadOnlyList<byte[]> dictionary) =>
        Mutate(seeds, dictionary, i => (byte)i);

    /// <summary>String inputs, edited as UTF-16 code units (so unpaired surrogates happen too).</summary>
    public static Gen<string> Strings(IReadOnlyList<string> seeds, IReadOnlyList<string> dictionary) =>
        Mutate([.. seeds.Select(s => s.ToCharArray())], [.. dictionary.Select(s => s.ToCharArray())], i => (char)(i % 3 == 0 ? i % 0x80 : i % 0x10000))
            .Select(chars => new string(chars));

    private static T[] Apply<T>(IReadOnlyList<T[]> seeds, int seed, (int Op, int A, int B, int C)[] edits, IReadOnlyList<T[]> dictionary, Func<int, T> fromInt)
    {
        var data = new List<T>(seeds[seed]);
        foreach ((int op, int a, int b, int c) in edits)
        {
            int at = data.Count == 0 ? 0 : a % (data.Count + 1);
            switch (op)
            {
                case 0 when data.Count > 0: // replace one element with an arbitrary value
                    data[a % data.Count] = fromInt(b);
                    break;
                case 1 when data.Count > 0: // replace one element with a small "interesting" value
                    data[a % data.Count] = fromInt(Interesting[b % Interesting.Length]);
                    break;
                case 2 when data.Count > 0: // delete a short range
                    int start = a % data.Count;
                    data.RemoveRange(start, Math.Min(1 + (b % 16), data.Count - start));
                    break;
                case 3: // truncate
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 4 when data.Count > 0: // duplicate a range elsewhere
                    int from = a % data.Count;
                    T[] slice = [.. data.GetRange(from, Math.Min(1 + (b % 64), data.Count - from))];
                    data.InsertRange(c % (data.Count + 1), slice);
                    break;
                case 5 or 6 or 7: // insert a dictionary token (the most useful edit: weighted)
                    if (dictionary.Count > 0)
                    {
                        data.InsertRange(at, dictionary[b % dictionary.Count]);
                    }

                    break;
                case 8: // replace a range with a dictionary token
                    if (dictionary.Count > 0 && data.Count > 0)
                    {
                        int replaceAt = a % data.Count;
                        data.RemoveRange(replaceAt, Math.Min(1 + (c % 8), data.Count - replaceAt));
                        data.InsertRange(replaceAt, dictionary[b % dictionary.Count]);
                    }

                    break;
                default: // splice: a prefix of this input and a suffix of another seed
                    T[] other = seeds[b % seeds.Count];
                    int cut = other.Length == 0 ? 0 : c % other.Length;
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(cut).ToArray());
                    break;
            }
        }

        return [.. data];
    }

    private static readonly int[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0xFF, 0x30, 0x04, 0x03, 0x06, 0x07, 0x22, 0x5C, 0x2E, 0x2F];
}
