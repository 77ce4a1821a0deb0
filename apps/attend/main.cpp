// attend command-line tool (placeholder until the CLI lands).
#include <cstdio>

int main() {
  std::puts("attend");
  return 0;
}
