{-
  The in-process baseline of the benchmarks: a tiny program around the `hint` library
  (GHC's API embedded in the calling process), built by bench/hint_driver.py with `ghc -O`.

  Protocol: one command per line on stdin; exactly one reply line per command on the file
  descriptor named by the first argument (stdout is left to the interpreted code, whose
  output the benchmark discards). Every reply starts with the microseconds the operation
  took inside this process, then a space, then the answer with newlines escaped as \n.

    open N       N times `runInterpreter (setImports ["Prelude"])`, then N times the same
                 followed by `interpret "1 + 1" (as :: Int)`: replies
                 "<us> <open-us,...>;<open+first-us,...>" (the first <us> is the total).
    start        start the long-lived interpreter session used by the commands below.
    S <stmt>     runStmt      (nothing returned; output goes to stdout)
    I <expr>     interpret <expr> (as :: Int), answer its show
    T <expr>     typeOf <expr>
    E <expr>     eval <expr> (show of the value, as a String)
    L <expr>     interpret <expr> (as :: [Int]) and force it (answer: its length)
    C <expr>     interpret <expr> (as :: String) and force it (answer: its length)
    M <expr>     interpret <expr> (as :: Map Int Int) and force it (answer: its size)
    quit         end the session and exit.
  An interpreter error is answered as "<us> ERROR <message>".
-}
{-# LANGUAGE BangPatterns #-}
{-# LANGUAGE ScopedTypeVariables #-}
module Main (main) where

import Control.Exception (SomeException, evaluate)
import Control.Monad (forM, forever, when)
import qualified Control.Monad.Catch as Catch
import Control.Monad.IO.Class (liftIO)
import Data.List (intercalate)
import qualified Data.Map.Strict as Map
import GHC.Clock (getMonotonicTimeNSec)
import Language.Haskell.Interpreter
import System.Environment (getArgs)
import System.Exit (exitSuccess)
import System.IO
import System.Posix.IO (fdToHandle)
import System.Posix.Types (Fd (..))

escape :: String -> String
escape = concatMap esc
  where
    esc '\n' = "\\n"
    esc '\\' = "\\\\"
    esc c = [c]

elapsedSince :: Integer -> IO Integer
elapsedSince t0 = do
  t1 <- getMonotonicTimeNSec
  return ((toInteger t1 - t0) `div` 1000)

now :: IO Integer
now = toInteger <$> getMonotonicTimeNSec

reply :: Handle -> Integer -> String -> IO ()
reply h us text = hPutStrLn h (show us ++ " " ++ escape text) >> hFlush h

main :: IO ()
main = do
  args <- getArgs
  out <- case args of
    (fd : _) -> fdToHandle (Fd (read fd))
    [] -> return stderr
  hSetBuffering out (BlockBuffering Nothing)
  hSetBuffering stdin LineBuffering
  hSetBuffering stdout LineBuffering
  forever (command out)

-- Commands before "start" (opens); "start" hands over to the long-lived session.
command :: Handle -> IO ()
command out = do
  eof <- isEOF
  when eof exitSuccess
  line <- getLine
  case words line of
    ["open", n] -> do
      let count = read n :: Int
      t0 <- now
      opens <- forM [1 .. count] $ \_ -> do
        t <- now
        r <- runInterpreter (setImports ["Prelude"])
        either (fail . show) return r
        elapsedSince t
      firsts <- forM [1 .. count] $ \_ -> do
        t <- now
        r <- runInterpreter (setImports ["Prelude"] >> interpret "1 + 1" (as :: Int))
        v <- either (fail . show) return r
        when (v /= 2) (fail "1 + 1 /= 2")
        elapsedSince t
      total <- elapsedSince t0
      reply out total (csv opens ++ ";" ++ csv firsts)
    ["start"] -> do
      r <- runInterpreter (setImportsF imports >> liftIO (reply out 0 "ready") >> session out)
      case r of
        Left err -> reply out 0 ("ERROR " ++ show err) >> exitSuccess
        Right () -> exitSuccess
    ["quit"] -> exitSuccess
    _ -> reply out 0 ("ERROR unknown command " ++ line)
  where
    csv = intercalate "," . map show
    -- The Prelude, and Data.Map.Strict qualified in full (as GHCi's implicit qualified
    -- imports allow) plus its type name, which `interpret` writes unqualified.
    imports =
      [ ModuleImport "Prelude" NotQualified NoImportList
      , ModuleImport "Data.Map.Strict" (QualifiedAs Nothing) NoImportList
      , ModuleImport "Data.Map.Strict" NotQualified (ImportList ["Map"])
      ]

session :: Handle -> Interpreter ()
session out = loop
  where
    loop = do
      eof <- liftIO isEOF
      line <- if eof then return "quit" else liftIO getLine
      when (line /= "quit") $ do
        let (op, rest) = splitAt 1 line
        t0 <- liftIO now
        r <- Catch.try (run op (drop 1 rest))
        us <- liftIO (elapsedSince t0)
        liftIO . reply out us $ case r of
          Left (err :: SomeException) -> "ERROR " ++ show err
          Right answer -> answer
        loop
    run :: String -> String -> Interpreter String
    run "S" arg = runStmt arg >> liftIO (hFlush stdout) >> return "ok"
    run "I" arg = interpret arg (as :: Int) >>= liftIO . evaluate >>= return . show
    run "T" arg = typeOf arg
    run "E" arg = eval arg >>= \s -> liftIO (evaluate (length s)) >> return s
    run "L" arg = interpret arg (as :: [Int]) >>= liftIO . evaluate . forceList >>= return . show
    run "C" arg = interpret arg (as :: String) >>= liftIO . evaluate . forceList >>= return . show
    run "M" arg = do
      m <- interpret arg (as :: Map.Map Int Int)
      n <- liftIO (evaluate (Map.foldl' (+) 0 m `seq` Map.size m))
      return (show n)
    run o _ = return ("ERROR unknown op " ++ o)

forceList :: [a] -> Int
forceList = go 0
  where
    go !n [] = n
    go !n (x : xs) = x `seq` go (n + 1) xs
