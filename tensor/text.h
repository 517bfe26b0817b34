// Small text helpers shared by every layer's error messages.
#pragma once
#include <string>
#include <vector>

namespace retort {

// Levenshtein distance.
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate closest to `word`, or "" when none is within about a third of its length.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace retort
