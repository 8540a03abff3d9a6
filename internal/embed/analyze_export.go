package embed

// Tokens appends the analyzed terms of text to dst, exactly as the local
// embedder sees them: lowercased, stop words and single ASCII characters
// dropped, Snowball-stemmed, numbers kept whole. An empty string marks a
// phrase break (punctuation), where no bigram may span; callers that only
// want the terms skip it. Sharing the analyzer keeps keyword and vector
// search agreeing on what a word is.
func Tokens(dst []string, text string) []string { return tokens(dst, text) }
