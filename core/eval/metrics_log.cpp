// Row formatting for metrics.csv and metrics.jsonl.
#include "core/eval/metrics_log.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/run/files.hpp"

namespace mer {

const char* MetricsLog::csv_header() { return "node,model,fold,epoch,split,target,loss,r2,rmse,mae,mse,pearson,ccc"; }

MetricsLog::MetricsLog(const std::filesystem::path& folder)
    : csv_(folder / "metrics.csv", std::ios::trunc), jsonl_(folder / "metrics.jsonl", std::ios::trunc) {
    if (!csv_ || !jsonl_) throw Error("cannot write metrics files in " + folder.string());
    csv_ << csv_header() << "\n";
    csv_.flush();
}

void MetricsLog::append(const MetricsRow& row) {
    const RegressionMetrics& m = row.metrics;
    std::string line = csv_field(row.node) + "," + csv_field(row.model) + "," + std::to_string(row.fold) + "," +
                       std::to_string(row.epoch) + "," + row.split + "," + csv_field(row.target) + "," +
                       (row.loss ? format_number(*row.loss) : "");
    for (const auto& name : metric_names()) line += "," + format_number(m.get(name));

    nlohmann::ordered_json j{{"node", row.node},   {"model", row.model},   {"fold", row.fold},
                             {"epoch", row.epoch}, {"split", row.split},   {"target", row.target}};
    j["loss"] = row.loss ? nlohmann::ordered_json(*row.loss) : nlohmann::ordered_json(nullptr);
    for (const auto& name : metric_names()) {
        const double v = m.get(name);
        j[name] = std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    csv_ << line << "\n";
    csv_.flush();
    jsonl_ << j.dump() << "\n";
    jsonl_.flush();
}

}  // namespace mer
