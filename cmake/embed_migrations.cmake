# Writes OUT: a C++ table of every DIR/NNNN_name.sql as a raw string literal.
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME)
  file(READ "${f}" sql)
  string(APPEND body "  {\"${name}\", R\"sbxsql(${sql})sbxsql\"},\n")
endforeach()
file(WRITE "${OUT}.tmp"
"// Generated from runtime/store/migrations by cmake/embed_migrations.cmake.\n"
"#include \"runtime/store/migrations.hpp\"\n\n"
"namespace sbx {\n\n"
"const std::vector<migration_file>& embedded_migrations() {\n"
"  static const std::vector<migration_file> files = {\n${body}  };\n"
"  return files;\n}\n\n} // namespace sbx\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
