import warnings

# asyncssh still imports cryptography's DSA classes (for old clients' keys we never accept), and each import
# warns that DSA is deprecated: a dozen lines in every log of the drop that nobody can act on. Filtered here,
# where the package that imports asyncssh is first loaded.
warnings.filterwarnings("ignore", message="DSA is deprecated", category=UserWarning)
