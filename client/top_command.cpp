#include "client/top_command.h"
namespace jr {
int top_command(const TopOptions&) { return 1; }
}
