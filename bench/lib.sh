# Shared by the bench scripts (sourced from the repository root): a release
# build, $bin, a scratch directory $out removed on exit, median of stdin.
cargo build --release --quiet
bin=target/release/simkit
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
