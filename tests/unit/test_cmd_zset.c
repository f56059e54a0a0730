/* Placeholder: tests land with the implementation. */
#include <criterion/criterion.h>
