import ArgumentParser
import Pipeline
import Report
import Minimize
import KernelInput

// The values of options that are not plain strings, parsed where the options are: a value none
// of these types accepts is a usage error naming its option (exit 64), before anything is read.

extension FailOn: ExpressibleByArgument {}
extension RunReport.Detail: ExpressibleByArgument {}

/// `--output-format raw|tar.xz`, spelled as `OutputFormat`'s raw values.
extension OutputFormat: ExpressibleByArgument {
    /// None: the option's help names the values in its own words, without a "(values: ...)" list.
    public static var allValueStrings: [String] { [] }
    public static var defaultCompletionKind: CompletionKind { .default }
}

/// `--report-format` and `report --format`: text, json, md, csv or html, in any case, with
/// `txt` for text and `markdown` for md (`ReportFormat(name:)`).
extension ReportFormat: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(name: argument)
    }

    /// None: the options' help names the values in its own words, without a "(values: ...)" list.
    public static var allValueStrings: [String] { [] }
    public static var defaultCompletionKind: CompletionKind { .default }
}

/// A `--shard K/N` value: the K-th (1-based) of N slices of the kernels, 1 <= K <= N.
struct Shard: ExpressibleByArgument, Equatable {
    var index: Int
    var count: Int

    init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else { return nil }
        index = k
        count = n
    }

    var defaultValueDescription: String { "\(index)/\(count)" }
}
